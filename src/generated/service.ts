import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { CSIDriverProviderClient as _v1alpha1_CSIDriverProviderClient, CSIDriverProviderDefinition as _v1alpha1_CSIDriverProviderDefinition } from './v1alpha1/CSIDriverProvider';
import type { Error as _v1alpha1_Error, Error__Output as _v1alpha1_Error__Output } from './v1alpha1/Error';
import type { File as _v1alpha1_File, File__Output as _v1alpha1_File__Output } from './v1alpha1/File';
import type { MountRequest as _v1alpha1_MountRequest, MountRequest__Output as _v1alpha1_MountRequest__Output } from './v1alpha1/MountRequest';
import type { MountResponse as _v1alpha1_MountResponse, MountResponse__Output as _v1alpha1_MountResponse__Output } from './v1alpha1/MountResponse';
import type { ObjectVersion as _v1alpha1_ObjectVersion, ObjectVersion__Output as _v1alpha1_ObjectVersion__Output } from './v1alpha1/ObjectVersion';
import type { VersionRequest as _v1alpha1_VersionRequest, VersionRequest__Output as _v1alpha1_VersionRequest__Output } from './v1alpha1/VersionRequest';
import type { VersionResponse as _v1alpha1_VersionResponse, VersionResponse__Output as _v1alpha1_VersionResponse__Output } from './v1alpha1/VersionResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  v1alpha1: {
    CSIDriverProvider: SubtypeConstructor<typeof grpc.Client, _v1alpha1_CSIDriverProviderClient> & { service: _v1alpha1_CSIDriverProviderDefinition }
    Error: MessageTypeDefinition<_v1alpha1_Error, _v1alpha1_Error__Output>
    File: MessageTypeDefinition<_v1alpha1_File, _v1alpha1_File__Output>
    MountRequest: MessageTypeDefinition<_v1alpha1_MountRequest, _v1alpha1_MountRequest__Output>
    MountResponse: MessageTypeDefinition<_v1alpha1_MountResponse, _v1alpha1_MountResponse__Output>
    ObjectVersion: MessageTypeDefinition<_v1alpha1_ObjectVersion, _v1alpha1_ObjectVersion__Output>
    VersionRequest: MessageTypeDefinition<_v1alpha1_VersionRequest, _v1alpha1_VersionRequest__Output>
    VersionResponse: MessageTypeDefinition<_v1alpha1_VersionResponse, _v1alpha1_VersionResponse__Output>
  }
}

