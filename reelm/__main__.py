from reelm.cli import main

main()
