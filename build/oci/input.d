build/oci/input.o: oci/input.c oci/input.h oci/err.h oci/cleanup.h \
 oci/jsoncheck.h
oci/input.h:
oci/err.h:
oci/cleanup.h:
oci/jsoncheck.h:
