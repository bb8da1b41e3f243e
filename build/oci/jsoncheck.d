build/oci/jsoncheck.o: oci/jsoncheck.c oci/jsoncheck.h
oci/jsoncheck.h:
