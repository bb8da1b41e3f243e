build/oci/annotations.o: oci/annotations.c oci/annotations.h oci/err.h \
 oci/policy.h oci/addr.h oci/ports.h
oci/annotations.h:
oci/err.h:
oci/policy.h:
oci/addr.h:
oci/ports.h:
