from arkinctl.cli import main

main()
