import asyncio
from message_broker import BrokerClient, Message

async def main():
    client = BrokerClient("my_app")
    await client.connect()
    
    # Subscribe to topics
    async def on_message(msg: Message):
        print(f"Received: {msg.topic} = {msg.payload}")
    
    await client.subscribe(["jobs.*", "scripts.+"], on_message)
    
    # Publish a message
    await client.publish("jobs.activated", {"job_id": "12345"})
    
    await asyncio.sleep(10)
    await client.disconnect()

asyncio.run(main())
