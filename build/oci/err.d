build/oci/err.o: oci/err.c oci/err.h
oci/err.h:
