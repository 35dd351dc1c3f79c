from thinkir.cli import main

main()
