# tests/test_broker_integration.py
import pytest
import asyncio
from message_broker import MessageBroker, BrokerClient

@pytest.fixture
async def broker():
    """Start a test broker."""
    broker = MessageBroker()
    await broker.start()
    yield broker
    await broker.stop()

@pytest.fixture
async def client(broker):
    """Create connected client."""
    client = BrokerClient("test_client")
    await client.connect()
    yield client
    await client.disconnect()

async def test_publish_subscribe(client):
    received = []
    
    async def handler(msg):
        received.append(msg)
    
    await client.subscribe(["test.*"], handler)
    await client.publish("test.message", {"data": "hello"})
    
    await asyncio.sleep(0.1)  # Wait for delivery
    
    assert len(received) == 1
    assert received[0].topic == "test.message"
    assert received[0].payload["data"] == "hello"
