# Sender
message_id = await client.publish("config.reload", {
    "config_path": "/path/to/config.json"
}, qos=1)

# Wait for acks
await asyncio.sleep(2)

# Check who acknowledged
acks = await client.request("_internal.message_acks", {
    "message_id": message_id
})
print(f"Acknowledged by: {acks.get('clients')}")
