import flask
import requests

# edit: 0
app = flask.Flask(__name__)
print("flask", flask.__version__, "requests", requests.__version__)
