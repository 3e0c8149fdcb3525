"""One router per resource. Routes stay thin: parse, call one use case, shape the answer."""
