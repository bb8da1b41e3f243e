build/oci/ports.o: oci/ports.c oci/ports.h oci/addr.h oci/err.h \
 oci/policy.h oci/cleanup.h oci/input.h
oci/ports.h:
oci/addr.h:
oci/err.h:
oci/policy.h:
oci/cleanup.h:
oci/input.h:
