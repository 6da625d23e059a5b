"""``python -m message_broker``: run the broker in the foreground until Ctrl+C."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import List, Optional

from ._deadline import within
from .broker import BrokerStartError, MessageBroker
from .config import BrokerConfig
from .errors import BridgeNotFoundError


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    defaults = BrokerConfig()
    parser = argparse.ArgumentParser(prog="python -m message_broker", description="Run the ahk-bridge message broker (BROKER_HOST, BROKER_PORT and BROKER_LOG_LEVEL set the defaults).")
    parser.add_argument("--host", default=defaults.host, help="interface to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=defaults.port, help="TCP port (default %(default)s)")
    parser.add_argument("--log-level", default=defaults.log_level, choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], type=str.upper)
    parser.add_argument("--log-messages", action="store_true", help="log every publish")
    return parser.parse_args(argv)


async def _serve(config: BrokerConfig) -> int:
    broker = MessageBroker(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Before start(): a Ctrl+C the moment the broker listens must take the clean path.
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass  # Windows: Ctrl+C arrives as KeyboardInterrupt instead
    await broker.start()
    try:
        while broker.is_running and not stop.is_set():
            try:
                await within(stop.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
    finally:
        await broker.stop()
    return 0 if stop.is_set() else 1


def main(argv: Optional[List[str]] = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)-8s %(name)s: %(message)s")
    config = BrokerConfig(host=args.host, port=args.port, log_level=args.log_level, log_messages=args.log_messages)
    try:
        return asyncio.run(_serve(config))
    except KeyboardInterrupt:
        return 0
    except (BridgeNotFoundError, BrokerStartError) as err:
        print("message_broker: %s" % err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
