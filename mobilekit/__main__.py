from mobilekit.cli import main

main()
