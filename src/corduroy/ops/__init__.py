"""Operations: pure generators that yield ``Request``\\ s and return results.

Nothing in this package touches a socket or an event loop; ``corduroy.drivers``
runs them. Test an operation by driving it by hand (see ``tests/unit``).
"""
