from relaybox.cli import main

main()
