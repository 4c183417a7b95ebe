"""A test-only function app for the local host's rules: functions that echo what reached the
worker, set repeated headers and cookies, sleep, stream, fail. Not part of the product."""

import asyncio
import hashlib
import os

import azure.functions as func
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, Response, StreamingResponse

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
COOKIES = ["a=b/c+d==; Path=/", "id=1; Secure; HttpOnly; SameSite=None; Partitioned", "empty="]


@app.route(route="health", methods=["GET"])
async def get_health(req: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


@app.route(route="echo/{id}", methods=["GET", "POST", "PUT", "HEAD"])
async def echo(req: Request) -> JSONResponse:
    digest = hashlib.sha256()
    size = 0
    async for chunk in req.stream():
        size += len(chunk)
        digest.update(chunk)
    return JSONResponse(
        {
            "method": req.method,
            "params": dict(req.path_params),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in req.headers.raw],
            "query": req.url.query,
            "size": size,
            "sha256": digest.hexdigest(),
        }
    )


@app.route(route="files/{*path}", methods=["GET"])
async def get_file(req: Request) -> JSONResponse:
    return JSONResponse({"params": dict(req.path_params)})


@app.route(route="keyed/function", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def keyed_function(req: Request) -> JSONResponse:
    return JSONResponse({"level": "function"})


@app.route(route="keyed/admin", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
async def keyed_admin(req: Request) -> JSONResponse:
    return JSONResponse({"level": "admin"})


@app.route(route="repeated", methods=["GET"])
async def repeated(req: Request) -> Response:
    response = Response(b"ok", media_type="text/plain")
    response.headers.append("x-multi", "one")
    response.headers.append("x-multi", "two")
    for cookie in COOKIES:
        response.headers.append("set-cookie", cookie)
    return response


@app.route(route="resource", methods=["GET", "HEAD"])
async def resource(req: Request) -> Response:
    if req.headers.get("if-none-match") == '"v1"':
        return Response(status_code=304, headers={"etag": '"v1"'})
    if req.method == "HEAD":
        return Response(status_code=200, headers={"etag": '"v1"'})
    return Response(b"body", headers={"etag": '"v1"'})


@app.route(route="sleep/{seconds}", methods=["GET"])
async def sleep(req: Request) -> JSONResponse:
    mark = req.query_params.get("mark")
    if mark:  # tells a test that the call reached the function
        with open(mark, "w") as file:
            file.write(str(os.getpid()))
    await asyncio.sleep(float(req.path_params["seconds"]))
    return JSONResponse({"slept": req.path_params["seconds"], "pid": os.getpid()})


@app.route(route="stream/{count}", methods=["GET"])
async def stream(req: Request) -> StreamingResponse:
    async def chunks():  # type: ignore[no-untyped-def]
        for n in range(int(req.path_params["count"])):
            yield b"%d\n" % n
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="text/plain")


@app.route(route="fail", methods=["GET"])
async def fail(req: Request) -> JSONResponse:
    raise RuntimeError("this function fails on purpose")


@app.route(route="pid", methods=["GET"])
async def pid(req: Request) -> JSONResponse:
    return JSONResponse({"pid": os.getpid(), "ppid": os.getppid()})


@app.route(route="docs", methods=["GET"])
async def docs(req: Request) -> JSONResponse:  # never runs: the worker's FastAPI owns /docs
    return JSONResponse({"ran": True})
