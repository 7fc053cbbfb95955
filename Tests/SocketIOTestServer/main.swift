print("canal-sio-testserver: under construction")
