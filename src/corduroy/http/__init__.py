"""Low-level HTTP/1.1 client: request serialiser, httptools parser, pools."""
