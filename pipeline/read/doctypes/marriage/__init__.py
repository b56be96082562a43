"""The parts of the marriage certificate's reading (not a document type: ``marriage_certificate`` is
the type): ``table``, its two columns read by position."""
