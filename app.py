from kg import create_app
from kg.web.front import Front

app = create_app()  # the Flask app (WSGI), for tools and tests that want it
front = Front(app)  # what gunicorn serves (`kg serve`): the event-loop front before the Flask app
