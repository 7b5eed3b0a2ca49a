"""``python -m demo_site --port 8001 --tandem-url http://127.0.0.1:8000``"""

from demo_site.server import main

if __name__ == "__main__":
    main()
