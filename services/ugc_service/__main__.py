from ugc_service.cli import main

main()
