from illm_lab.cli.main import main

main()
