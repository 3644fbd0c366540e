// Original file: proto/provider/v1alpha1/service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { MountRequest as _v1alpha1_MountRequest, MountRequest__Output as _v1alpha1_MountRequest__Output } from '../v1alpha1/MountRequest';
import type { MountResponse as _v1alpha1_MountResponse, MountResponse__Output as _v1alpha1_MountResponse__Output } from '../v1alpha1/MountResponse';
import type { VersionRequest as _v1alpha1_VersionRequest, VersionRequest__Output as _v1alpha1_VersionRequest__Output } from '../v1alpha1/VersionRequest';
import type { VersionResponse as _v1alpha1_VersionResponse, VersionResponse__Output as _v1alpha1_VersionResponse__Output } from '../v1alpha1/VersionResponse';

export interface CSIDriverProviderClient extends grpc.Client {
  Mount(argument: _v1alpha1_MountRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_v1alpha1_MountResponse__Output>): grpc.ClientUnaryCall;
  Mount(argument: _v1alpha1_MountRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_v1alpha1_MountResponse__Output>): grpc.ClientUnaryCall;
  Mount(argument: _v1alpha1_MountRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_v1alpha1_MountResponse__Output>): grpc.ClientUnaryCall;
  Mount(argument: _v1alpha1_MountRequest, callback: grpc.requestCallback<_v1alpha1_MountResponse__Output>): grpc.ClientUnaryCall;
  mount(argument: _v1alpha1_MountRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_v1alpha1_MountResponse__Output>): grpc.ClientUnaryCall;
  mount(argument: _v1alpha1_MountRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_v1alpha1_MountResponse__Output>): grpc.ClientUnaryCall;
  mount(argument: _v1alpha1_MountRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_v1alpha1_MountResponse__Output>): grpc.ClientUnaryCall;
  mount(argument: _v1alpha1_MountRequest, callback: grpc.requestCallback<_v1alpha1_MountResponse__Output>): grpc.ClientUnaryCall;
  
  Version(argument: _v1alpha1_VersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_v1alpha1_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _v1alpha1_VersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_v1alpha1_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _v1alpha1_VersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_v1alpha1_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _v1alpha1_VersionRequest, callback: grpc.requestCallback<_v1alpha1_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _v1alpha1_VersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_v1alpha1_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _v1alpha1_VersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_v1alpha1_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _v1alpha1_VersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_v1alpha1_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _v1alpha1_VersionRequest, callback: grpc.requestCallback<_v1alpha1_VersionResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface CSIDriverProviderHandlers extends grpc.UntypedServiceImplementation {
  Mount: grpc.handleUnaryCall<_v1alpha1_MountRequest__Output, _v1alpha1_MountResponse>;
  
  Version: grpc.handleUnaryCall<_v1alpha1_VersionRequest__Output, _v1alpha1_VersionResponse>;
  
}

export interface CSIDriverProviderDefinition extends grpc.ServiceDefinition {
  Mount: MethodDefinition<_v1alpha1_MountRequest, _v1alpha1_MountResponse, _v1alpha1_MountRequest__Output, _v1alpha1_MountResponse__Output>
  Version: MethodDefinition<_v1alpha1_VersionRequest, _v1alpha1_VersionResponse, _v1alpha1_VersionRequest__Output, _v1alpha1_VersionResponse__Output>
}
