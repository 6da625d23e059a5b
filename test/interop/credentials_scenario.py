#!/usr/bin/env python3
"""Interop: seed-style Python clients connecting with per-client credentials.

Usage: python3 test/interop/credentials_scenario.py --port N --secret S

The broker under test lists `job_manager` with secret S, allowed to publish `jobs.#` only
and to subscribe to `jobs.#`. Prints ONE JSON object with what was observed; the caller
asserts on it. Standard library only; Python 3.8+; capped at 8 seconds.
"""

import sys

sys.dont_write_bytecode = True  # keep test/interop free of __pycache__

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402

from seed_client import BrokerClient, RpcError  # noqa: E402


def error_info(exc):
    return {"code": exc.code, "message": exc.message, "data": exc.data}


async def attempt(coro):
    try:
        return {"result": await coro}
    except RpcError as exc:
        return {"error": error_info(exc)}


async def run(host, port, secret, out):
    wrong = BrokerClient("job_manager", host, port, token="not-the-secret")
    out["wrong_secret"] = await attempt(wrong.connect())
    await asyncio.wait_for(wrong.closed.wait(), 3)
    out["wrong_secret_closed"] = True
    await wrong.close()

    jm = BrokerClient("job_manager", host, port, token=secret)
    out["connect"] = await attempt(jm.connect())
    got = asyncio.Queue()

    async def on_job(msg):
        await got.put(msg.payload)

    out["subscribe_allowed"] = await attempt(jm.subscribe(["jobs.#"], on_job))
    out["subscribe_denied"] = await attempt(jm.subscribe(["scripts.#"], on_job))
    out["publish_allowed"] = await attempt(jm.publish("jobs.activated", {"job_id": "7"}))
    out["publish_denied"] = await attempt(jm.publish("scripts.run", {"path": "x.ahk"}))
    out["received"] = await asyncio.wait_for(got.get(), 3)
    await jm.disconnect()
    await jm.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    out = {}
    try:
        asyncio.run(asyncio.wait_for(run(args.host, args.port, args.secret, out), 8))
    except Exception as exc:  # report whatever happened; the caller fails the test
        sys.stderr.write("credentials scenario failed: %r\nobserved so far: %s\n" % (exc, json.dumps(out)))
        return 1
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
