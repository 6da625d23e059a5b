# Print all broker activity
import logging
logging.getLogger("message_broker").setLevel(logging.DEBUG)

# Get broker status
status = await client.request("status", {})
print(f"Connected clients: {status['client_count']}")
print(f"Messages processed: {status['message_count']}")

# List subscriptions
subs = await client.request("subscriptions", {"client_id": "my_app"})
print(f"Active subscriptions: {subs['patterns']}")
