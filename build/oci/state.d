build/oci/state.o: oci/state.c oci/state.h oci/annotations.h oci/err.h \
 oci/policy.h oci/addr.h oci/ports.h oci/cleanup.h oci/input.h
oci/state.h:
oci/annotations.h:
oci/err.h:
oci/policy.h:
oci/addr.h:
oci/ports.h:
oci/cleanup.h:
oci/input.h:
