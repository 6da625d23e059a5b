# Enable message logging
config = BrokerConfig(log_messages=True)

# Subscribe to all topics to debug
await client.subscribe(["#"], debug_handler)
