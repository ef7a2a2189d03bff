# cmake --install BUILD --prefix P: the tools, the JIT plugin, the runtime
# library AOT programs link, the embedding library and headers, a CMake
# package and a pkg-config file; cpack -G DEB makes a Debian package of it.
include(CMakePackageConfigHelpers)

# libfusevm.a: everything a frontend links, and LLVM's Support library,
# in one archive (the JIT comes from the plugin; the code cache needs
# -lsqlite3).
set(FUSEVM_EMBED_LIB ${CMAKE_BINARY_DIR}/lib/libfusevm.a)
set(FUSEVM_EMBED_PARTS $<TARGET_FILE:FusevmSupport> $<TARGET_FILE:FusevmAsm>
  $<TARGET_FILE:FusevmBytecode> $<TARGET_FILE:FusevmCachedJIT> $<TARGET_FILE:FusevmVM>
  $<TARGET_FILE:FusevmVerify> $<TARGET_FILE:FusevmCache> $<TARGET_FILE:FusevmCore>
  ${LLVM_LIBRARY_DIR}/libLLVMSupport.a ${LLVM_LIBRARY_DIR}/libLLVMDemangle.a)
add_custom_command(OUTPUT ${FUSEVM_EMBED_LIB}
  COMMAND ${CMAKE_COMMAND} -DAR=${CMAKE_AR} -DOUT=${FUSEVM_EMBED_LIB}
          "-DLIBS=${FUSEVM_EMBED_PARTS}"
          -P ${CMAKE_SOURCE_DIR}/cmake/MergeArchives.cmake
  DEPENDS FusevmSupport FusevmAsm FusevmBytecode FusevmCachedJIT FusevmVM FusevmVerify
          FusevmCache FusevmCore
  COMMENT "Merging the embedding library libfusevm.a" VERBATIM)
add_custom_target(fusevm-embed ALL DEPENDS ${FUSEVM_EMBED_LIB})

install(TARGETS fusevm fusevmc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS fusevm-jit LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/fusevm)
install(FILES ${FUSEVM_RUNTIME_LIB} ${FUSEVM_EMBED_LIB}
        DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/fusevm DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.def")
install(FILES ${CMAKE_BINARY_DIR}/include/fusevm/Config.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fusevm)

configure_package_config_file(cmake/fusevmConfig.cmake.in
  ${CMAKE_BINARY_DIR}/fusevmConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fusevm
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/fusevmConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/fusevmConfig.cmake
        ${CMAKE_BINARY_DIR}/fusevmConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fusevm)
configure_file(cmake/fusevm.pc.in ${CMAKE_BINARY_DIR}/fusevm.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/fusevm.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})

# cpack -G DEB (in the build directory): fusevm_VERSION_amd64.deb.
set(CPACK_PACKAGE_NAME fusevm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "fusevm")
set(CPACK_PACKAGE_CONTACT "fusevm developers <fusevm@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "bytecode VM toolchain: interpreter, LLVM JIT tiers, ahead-of-time compiler")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "fusevm runs and compiles fusevm bytecode (.fasm text, .fbc binary): an
 interpreter, native tiers on LLVM (linked statically into a plugin), and
 fusevmc, which compiles programs ahead of time to objects and executables
 (these link with the C compiler driver: build-essential). Embedding
 frontends also need LLVM 19's headers (llvm-19-dev).")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libgcc-s1, libsqlite3-0")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "gcc, lld")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
include(CPack)
