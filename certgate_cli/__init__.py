"""certgate's command-line client for pipelines: upload, bind, list, delete; JSON out."""
