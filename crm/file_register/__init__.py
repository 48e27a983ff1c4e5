"""The register of personal information files (個人情報ファイル簿, APPI art. 75), generated from the models."""
from flask import Blueprint

bp = Blueprint("file_register", __name__)
