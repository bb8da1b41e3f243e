build/oci/config.o: oci/config.c oci/config.h oci/annotations.h oci/err.h \
 oci/policy.h oci/addr.h oci/ports.h oci/cleanup.h oci/input.h
oci/config.h:
oci/annotations.h:
oci/err.h:
oci/policy.h:
oci/addr.h:
oci/ports.h:
oci/cleanup.h:
oci/input.h:
