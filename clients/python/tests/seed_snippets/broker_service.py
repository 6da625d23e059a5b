# broker_service.py
"""Message broker as a standalone service."""

import asyncio
import signal
from message_broker import MessageBroker, BrokerConfig


async def main():
    config = BrokerConfig()
    broker = MessageBroker(config)
    
    # Handle shutdown signals
    loop = asyncio.get_event_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(
            sig,
            lambda: asyncio.create_task(broker.stop())
        )
    
    await broker.start()
    
    # Run until stopped
    while broker._running:
        await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main())
