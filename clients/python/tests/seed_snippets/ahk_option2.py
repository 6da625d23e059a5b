# Python side
from message_broker import BrokerClient
from message_broker.ahk_bridge import AHKBridge

async def main():
    # Create broker client
    client = BrokerClient("ahk_bridge")
    await client.connect()
    
    # Create AHK bridge
    bridge = AHKBridge(broker_client=client)
    await bridge.start()
    
    # Run an AHK script
    await bridge.run_script(
        script_path="scripts/cad_hotkeys.ahk",
        program_key="cad",
    )
    
    # The bridge will:
    # - Publish script lifecycle events
    # - Forward hotkey events to broker
    # - Listen for commands from other components
