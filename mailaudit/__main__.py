from mailaudit.cli import main

main()
