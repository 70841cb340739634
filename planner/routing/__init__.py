"""Routing on one compiled timetable: the ``Query``, the Cython engines behind a small
``Router``, journeys, the search policy and the networkx reference."""
