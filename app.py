from kg import create_app

app = create_app()
