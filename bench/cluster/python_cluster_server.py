#!/usr/bin/env python3
"""bench/socketio/python_server.py (the benchmark contract on python-socketio) as one server
of a cluster: python-socketio's own Redis manager, `socketio.AsyncRedisManager`, joins it to
the others, so a broadcast started on one server reaches the clients of all of them.

    python bench/cluster/python_cluster_server.py --redis redis://127.0.0.1:6379 --port 28601

Every other option is python_server.py's (default stack: uvicorn).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "socketio"))

import python_server  # noqa: E402


def take_redis_url(argv):
    """Removes `--redis URL` from argv (python_server.py does not know it) and returns the URL."""
    if "--redis" not in argv:
        sys.exit("--redis URL is required")
    i = argv.index("--redis")
    if i + 1 >= len(argv):
        sys.exit("--redis needs a URL")
    url = argv[i + 1]
    del argv[i:i + 2]
    return url


def main():
    url = take_redis_url(sys.argv)
    import socketio

    # python_server.py builds its AsyncServer itself; give every AsyncServer made here the
    # Redis manager (python-socketio's documented way: the client_manager argument).
    plain = socketio.AsyncServer

    def clustered(*args, **kwargs):
        kwargs.setdefault("client_manager", socketio.AsyncRedisManager(url))
        return plain(*args, **kwargs)

    socketio.AsyncServer = clustered
    python_server.main()


if __name__ == "__main__":
    main()
