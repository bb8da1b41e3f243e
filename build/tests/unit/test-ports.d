build/tests/unit/test-ports.o: tests/unit/test-ports.c tests/unit/unit.h \
 tests/unit/../../oci/err.h tests/unit/../../oci/ports.h \
 tests/unit/../../oci/addr.h tests/unit/../../oci/err.h \
 tests/unit/../../oci/policy.h
tests/unit/unit.h:
tests/unit/../../oci/err.h:
tests/unit/../../oci/ports.h:
tests/unit/../../oci/addr.h:
tests/unit/../../oci/err.h:
tests/unit/../../oci/policy.h:
