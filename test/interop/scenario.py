#!/usr/bin/env python3
"""Interop scenario: seed-style Python clients against a running broker.

Usage: python3 test/interop/scenario.py --port N [--host H]

Prints ONE JSON object on stdout with what was observed; the caller asserts on it.
On any failure or timeout: a message on stderr and exit status 1. Every wait is bounded
and the whole run is capped at TOTAL_TIMEOUT seconds.

Standard library only; Python 3.8+.
"""

import sys

sys.dont_write_bytecode = True  # keep test/interop free of __pycache__

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import traceback  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

from seed_client import BrokerClient, RpcError  # noqa: E402

STEP_TIMEOUT = 3.0
TOTAL_TIMEOUT = 9.0
POLL_INTERVAL = 0.05

JOB_PAYLOAD = {"job_id": "12345", "customer": "Acme Corp", "note": "\u00fcn\u00efc\u00f6d\u00e9 \u2713"}

# What `datetime.fromisoformat` accepts on Python 3.7-3.10 (3.11 also takes "Z" etc.).
LEGACY_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}.\d{2}(:\d{2}(:\d{2}(\.(\d{3}|\d{6}))?)?)?"
    r"([+-]\d{2}:\d{2}(:\d{2}(\.\d{6})?)?)?$"
)
# The contract's exact shape: milliseconds and an explicit +00:00 offset.
CONTRACT_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$")


class ScenarioError(Exception):
    pass


class Step(object):
    name = "start"


def check_timestamp(value):
    parsed = None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        pass
    return {
        "value": value,
        "fromisoformat": parsed is not None,
        "utc": parsed is not None and parsed.utcoffset() == timedelta(0),
        "legacy_python": isinstance(value, str) and LEGACY_ISO.match(value) is not None,
        "contract_format": isinstance(value, str) and CONTRACT_ISO.match(value) is not None,
    }


def error_info(exc):
    return {"code": exc.code, "message": exc.message, "data": exc.data}


async def expect_error(awaitable):
    try:
        result = await awaitable
    except RpcError as exc:
        return error_info(exc)
    raise ScenarioError("expected an error response, got result %r" % (result,))


async def next_message(queue, what):
    try:
        return await asyncio.wait_for(queue.get(), STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise ScenarioError("no delivery of %s within %.1fs" % (what, STEP_TIMEOUT))


async def poll(fetch, done, what):
    """Call fetch() until done(result), sleeping briefly between tries; bounded."""

    async def loop():
        while True:
            result = await fetch()
            if done(result):
                return result
            await asyncio.sleep(POLL_INTERVAL)

    try:
        return await asyncio.wait_for(loop(), STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise ScenarioError("timed out waiting for %s" % what)


def delivery_info(msg):
    return {
        "topic": msg.topic,
        "payload": msg.payload,
        "sender": msg.sender,
        "timestamp": msg.timestamp,
        "message_id": msg.message_id,
        "qos": msg.qos,
        "has_reply_to": msg.reply_to is not None,
        "keys": sorted(msg.raw.keys()),
    }


async def run(host, port, out, step):
    ds = BrokerClient("ds_pas", host, port)
    mgr = BrokerClient("ahk_manager", host, port)
    # A second QoS 1 subscriber that does not ack at once: shows up as pending, then
    # acks with an `ack` notification (the contract allows both forms).
    helper = BrokerClient("cad_helper", host, port, auto_ack=False)
    clients = [ds, mgr, helper]
    try:
        # (a) connect
        step.name = "a: connect"
        out["connect"] = {
            "ds_pas": await ds.connect(),
            "ahk_manager": await mgr.connect(),
            "cad_helper": await helper.connect(),
        }

        # (b) pub/sub with unicode payload
        step.name = "b: pub/sub"
        events = asyncio.Queue()

        async def on_event(msg):
            await events.put(msg)

        subscribed = await mgr.subscribe(["jobs.*", "scripts.+.status"], on_event)
        published = await ds.publish("jobs.activated", JOB_PAYLOAD)
        received = await next_message(events, "jobs.activated")
        status_pub = await ds.publish("scripts.saw1.status", {"state": "running"})
        status_msg = await next_message(events, "scripts.saw1.status")
        await mgr.ping()  # a round trip after the deliveries: any duplicate is in by now
        out["pubsub"] = {
            "subscribe_result": subscribed,
            "publish_result": published,
            "received": delivery_info(received),
            "middle_wildcard": {"publish_result": status_pub, "received": delivery_info(status_msg)},
            "extra_deliveries": events.qsize(),
        }

        # (c) QoS 1 with acknowledgment tracking
        step.name = "c: qos1 acks"
        mgr_cfg = asyncio.Queue()
        helper_cfg = asyncio.Queue()

        async def on_mgr_cfg(msg):
            await mgr_cfg.put(msg)

        async def on_helper_cfg(msg):
            await helper_cfg.put(msg)

        await mgr.subscribe(["config.reload"], on_mgr_cfg)
        await helper.subscribe(["config.*"], on_helper_cfg)
        cfg_pub = await ds.publish("config.reload", {"config_path": "/path/to/config.json"}, qos=1, ttl=60)
        mid = cfg_pub["message_id"]
        mgr_got = await next_message(mgr_cfg, "config.reload to ahk_manager")
        helper_got = await next_message(helper_cfg, "config.reload to cad_helper")

        def fetch_acks():
            return ds.request("_internal.message_acks", {"message_id": mid}, timeout=2)

        acks = await poll(fetch_acks, lambda r: "ahk_manager" in (r or {}).get("clients", []),
                          "ahk_manager's ack to be recorded")
        await helper.notify("ack", {"message_id": mid})
        acks_after = await poll(fetch_acks, lambda r: "cad_helper" in (r or {}).get("clients", []),
                                "cad_helper's ack notification to be recorded")
        out["qos1"] = {
            "publish_result": cfg_pub,
            "ahk_manager_received": delivery_info(mgr_got),
            "cad_helper_received": delivery_info(helper_got),
            "acks": acks,
            "acks_after_notification_ack": acks_after,
            "ack_results": list(mgr.ack_results),
        }

        # (d) request / response
        step.name = "d: request/response"
        seen_requests = []

        async def on_status_request(msg):
            seen_requests.append(delivery_info(msg))
            return {"running": True, "pid": 4242, "script_id": (msg.payload or {}).get("script_id")}

        await mgr.subscribe(["scripts.status"], on_status_request)
        response = await ds.request("scripts.status", {"script_id": "saw1"}, timeout=5)
        async def mgr_reply_results():
            return list(mgr.reply_results)

        # ahk_manager's `reply` response may arrive after ds_pas has its answer.
        reply_results = await poll(mgr_reply_results, bool, "the response to ahk_manager's reply")
        out["request_response"] = {
            "result": response,
            "responder_saw": seen_requests,
            "reply_results": reply_results,
        }

        # (e) no responders
        step.name = "e: no responders"
        out["no_responders"] = await expect_error(ds.request("nobody.listens", {"x": 1}, timeout=2))

        # (f) status, as a method and as the seed's `request("status", {})`
        step.name = "f: status"
        status = await ds.status()
        status_via_request = await ds.request("status", {}, timeout=2)
        pong = await ds.ping()
        out["status"] = {
            "client_count": status.get("client_count"),
            "keys": sorted(status.keys()),
            "via_request_client_count": (status_via_request or {}).get("client_count"),
            "started_at": status.get("started_at"),
        }
        out["ping"] = pong

        # (g) timestamps readable by datetime.fromisoformat on every Python 3.7+
        step.name = "g: timestamps"
        stamps = {
            "delivery": received.timestamp,
            "qos1_delivery": mgr_got.timestamp,
            "request_delivery": seen_requests[0]["timestamp"] if seen_requests else None,
            "ping": pong.get("timestamp"),
            "status_started_at": status.get("started_at"),
        }
        checks = dict((k, check_timestamp(v)) for k, v in stamps.items())
        out["timestamps"] = {
            "checks": checks,
            "all_fromisoformat": all(c["fromisoformat"] and c["utc"] and c["legacy_python"]
                                     for c in checks.values()),
        }

        # (h) reserved topics
        step.name = "h: reserved topics"
        out["reserved"] = {
            "system": await expect_error(ds.publish("system.x", {"evil": True})),
            "internal": await expect_error(ds.publish("_internal.x", {"evil": True})),
        }

        # (i) disconnect
        step.name = "i: disconnect"
        out["disconnect"] = {
            "ds_pas": await ds.disconnect(),
            "ahk_manager": await mgr.disconnect(),
            "cad_helper": await helper.disconnect(),
        }
        out["closed_by_broker"] = all(c.closed.is_set() for c in clients)
        out["client_errors"] = dict((c.client_id, c.errors) for c in clients)
    finally:
        for c in clients:
            await c.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    out = {"python_version": "%d.%d.%d" % sys.version_info[:3]}
    step = Step()
    try:
        asyncio.run(asyncio.wait_for(run(args.host, args.port, out, step), TOTAL_TIMEOUT))
    except asyncio.TimeoutError:
        sys.stderr.write("scenario timed out (step %s)\n" % step.name)
        sys.stderr.write("observed so far: %s\n" % json.dumps(out))
        return 1
    except RpcError as exc:
        sys.stderr.write("scenario failed at step %s: unexpected error response %s\n"
                         % (step.name, json.dumps(error_info(exc))))
        sys.stderr.write("observed so far: %s\n" % json.dumps(out))
        return 1
    except Exception as exc:
        sys.stderr.write("scenario failed at step %s: %r\n" % (step.name, exc))
        traceback.print_exc(file=sys.stderr)
        sys.stderr.write("observed so far: %s\n" % json.dumps(out))
        return 1
    # ASCII-only JSON: the reader decodes the \u escapes, whatever the locale's encoding.
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
