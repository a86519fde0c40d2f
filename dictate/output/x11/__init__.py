"""X11 text delivery through python-xlib: typing through XTEST and pasting through the clipboard.

Importing this package loads no Xlib: the modules that talk to the server are imported when an output
first connects. Exports: XTestTyping, X11Paste.

  backends          the outputs, XTestTyping and X11Paste
  keyboard          XKeyboard, the typing engine (layout keys in place, others bound for the occasion)
  keymap            pure planning: keysyms, XKB keys, which keys to borrow, the strokes
  protocol          the requests python-xlib lacks or makes slow (its internals are used only there)
  display           connecting, the keyboards, held keys, the focused window's class
  selection         what a text offers as a selection; reading every format a selection holds
  selection_server  owning selections and serving them
  hold              the helper process that keeps serving selections after we exit
"""

from dictate.output.x11.backends import X11Paste, XTestTyping

__all__ = ["X11Paste", "XTestTyping"]
