"""Wire protocols, sans-I/O: frames in, typed requests and frames out. Nothing here touches a socket."""
