from send_mergereq.cli import main

main()
