from salesxl.cli import main

main()
