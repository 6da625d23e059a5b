from message_broker import BrokerClient, Message
from message_broker.config import ClientConfig

# Configuration
config = ClientConfig(
    host="localhost",
    port=PORT,
    auto_reconnect=True,
    reconnect_delay=1.0,
    max_reconnect_delay=30.0,
    max_reconnect_attempts=0,  # 0 = infinite
    connect_timeout=10.0,
    request_timeout=5.0,
    heartbeat_interval=5.0,
)

# Create client
client = BrokerClient(
    client_id="my_python_app",
    host="localhost",
    port=PORT,
    config=config,
)

# Connect
await client.connect()

# Subscribe with callback
async def handle_message(msg: Message):
    print(f"Topic: {msg.topic}")
    print(f"Payload: {msg.payload}")
    print(f"Sender: {msg.sender}")
    print(f"Timestamp: {msg.timestamp}")

await client.subscribe(
    patterns=["jobs.*", "scripts.+.status"],
    callback=handle_message,
)

# Publish
await client.publish(
    topic="jobs.activated",
    payload={"job_id": "12345", "job_number": "ABC123"},
    qos=1,  # 0=at-most-once, 1=at-least-once
    ttl=60,  # seconds (0=no expiry)
)

# Request/Response pattern
response = await client.request(
    topic="scripts.status",
    payload={"script_id": "saw1"},
    timeout=5.0,
)

# Disconnect
await client.disconnect()
