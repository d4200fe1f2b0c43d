"""The high-contrast theme: white and yellow on black, for low vision and bright rooms."""

from __future__ import annotations

from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="lowband-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FFFF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    warning="#FFA500",
    error="#FF5555",
    success="#00FF00",
    dark=True,
    variables={
        "text-muted": "#C0C0C0",
        "footer-key-foreground": "#FFFF00",
        "border": "#FFFFFF",
    },
)
DEFAULT_THEME = "textual-dark"
