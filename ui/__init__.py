"""Where people meet the assistant: the `assistant` command line, the ASGI app and its screens."""
