# Check if broker is running
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
result = sock.connect_ex(('localhost', PORT))
if result == 0:
    print("Broker is running")
else:
    print("Broker not available")
sock.close()
