from reelm.cli.main import main

main()
