"""`python -m shared.tools.reencrypt`: re-seal every stored PFX under the key ring's newest key.

Run after appending a key to CERTGATE_ENCRYPTION_KEYS (and restarting the app); once it reports
nothing left under the old key, the old key can be removed from the ring.
"""

from __future__ import annotations

import json
import logging
import sys

from shared.config import load_settings
from shared.errors import CertgateError, ConfigurationError
from shared.services import build_services


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        services = build_services(load_settings())
        services.provisioner.ensure()
        resealed, current = services.certificates.reencrypt_all()
    except (ConfigurationError, CertgateError) as exc:
        print(f"reencrypt failed: {exc}", file=sys.stderr)
        for detail in exc.details if isinstance(exc, CertgateError) else ():
            print(f"  {detail.target}: {detail.message}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {"resealed": resealed, "alreadyCurrent": current, "keyId": services.settings.key_ring.current_id}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
