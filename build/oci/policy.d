build/oci/policy.o: oci/policy.c oci/policy.h oci/addr.h oci/err.h \
 oci/cleanup.h oci/input.h
oci/policy.h:
oci/addr.h:
oci/err.h:
oci/cleanup.h:
oci/input.h:
